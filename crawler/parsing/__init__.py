"""Feed parsing: the bytes of a feed -> its entries."""
