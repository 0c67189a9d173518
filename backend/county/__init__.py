"""The county e-commerce centre: review pages, rollups, reports, subsidies."""
