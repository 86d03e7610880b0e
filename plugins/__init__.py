"""Reference plugins: each module registers its entries through the ``tailorgen`` entry-point group."""
