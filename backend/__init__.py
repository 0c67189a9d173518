"""村站通 Cunzhan: the ledger and app of village e-commerce service stations."""
