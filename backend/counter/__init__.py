"""The counter at speed: shelf set-up, pickup SMS, carrier counts, 代发 prices, household cards."""
