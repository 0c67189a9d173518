"""Produce traceability (溯源): trace batches, their codes and QR labels, and the public page a
buyer reaches by scanning, counted once per visit."""
