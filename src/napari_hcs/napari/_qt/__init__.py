"""The dock widgets (Qt): thin views over the engine and the viewer's `HcsSession`."""
