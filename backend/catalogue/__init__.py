"""The county's product catalogue (产品目录): its products, and the 代销 texts mapped to them."""
