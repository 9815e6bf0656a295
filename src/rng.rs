//! numpy's legacy RandomState (MT19937), so seeded subsets match torch-fidelity.
