"""Writes the Fortran-order `.npy` fixtures: `np.save` of transposed arrays (numpy stores them with
`fortran_order: True`) next to the same arrays saved in C order. Seeded; rerun from this folder with
`python3 make-fortran-fixtures.py`."""
import numpy as np

rng = np.random.default_rng(29)
cases = {
    "f32_2x3x4": rng.standard_normal((4, 3, 2)).astype(np.float32).T,
    "f64_3x5": rng.standard_normal((5, 3)).T,
}
for name, array in cases.items():
    assert array.flags.f_contiguous and not array.flags.c_contiguous
    np.save(f"{name}_fortran.npy", array)
    np.save(f"{name}_c.npy", np.ascontiguousarray(array))
    with open(f"{name}_fortran.npy", "rb") as f:
        assert b"'fortran_order': True" in f.read(128)
