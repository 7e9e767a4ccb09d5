"""One widget per view; `main_window` wires them and holds no logic of its own."""
