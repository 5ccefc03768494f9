"""Server-rendered pages: the customer signing pages, the analyst dashboard and the admin's
enrollment management. Views are thin: they call services and selectors and render
templates/web/*; live updates come from the websockets in verification.consumers."""
