"""The staff pages' shared kit: layout and errors, forms, SVG charts, formatting, bidi isolation."""
