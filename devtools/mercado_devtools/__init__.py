"""Development and test tooling of Mercado Veículo: the local stack of `make run`, the
test fixtures, the mail catcher. Installed in the developer's virtualenv only; no image
that production runs contains it (the Dockerfile installs shared/ alone)."""
