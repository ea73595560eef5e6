"""Feeds: the bytes of a feed -> its entries, and finding a site's feeds."""
