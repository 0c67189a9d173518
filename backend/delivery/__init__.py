"""County-to-village delivery (县到村 48 h): the hub's hand-overs, their legs and the villagers'
parcel tracking."""
