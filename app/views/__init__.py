"""One widget per view; the main window only wires them."""
