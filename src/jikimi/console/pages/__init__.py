"""The console's pages, one module per area; :mod:`jikimi.console.routes` gathers them."""
