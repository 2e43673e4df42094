"""The model variants of the paper's ablations (Tables 2 and 3), by name.

=====================  =====  =====  ===========  ======  ==========================================
name                   u_t    d_t    dynamics     L_unc   paper
=====================  =====  =====  ===========  ======  ==========================================
``full``               yes    yes    part (SRN)   yes     "Ours"
``no_u``               no     yes    part         no      Table 2 "w/o u_t"
``no_u_unc``           no     yes    part         yes     w/o u_t as input, L_unc kept (ours)
``no_d``               yes    no     part         yes     Table 2 "w/o d_t"
``no_u_no_d``          no     no     part         no      Table 2 "w/o both" (VIBE-like encoder)
``no_dynamics``        yes    yes    none         yes     Table 3 "w/o dynamics"
``no_d_no_dynamics``   yes    no     none         yes     Table 3 "w/o d_t, dynamics"
``fc_dynamics``        yes    yes    fc           yes     dynamics without the part split
=====================  =====  =====  ===========  ======  ==========================================

L_unc goes with u_t in the paper's rows: both come from the uncertainty-aware embedding, and a
variant "without u_t" is read as a model without that embedding (the VIBE-like baseline has
neither). ``no_u_unc`` separates the two effects: u_t is not an input, L_unc still trains.

A *run* is a variant trained with one seed: ``full`` uses the config's seed, ``full-s2`` the seed
+ 2 (:func:`parse_run`); the tables report the mean and spread over a variant's runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from hmr.errors import InputError


@dataclass(frozen=True)
class Variant:
    name: str
    use_u: bool
    use_d: bool
    dynamics: str          # "part" | "fc" | "none"
    unc_loss: bool

    @property
    def needs_embedding(self) -> bool:
        """Reads the embedding stage files and the frozen embedder (u_t and/or L_unc)."""
        return self.use_u or self.unc_loss


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("full", True, True, "part", True),
    Variant("no_u", False, True, "part", False),
    Variant("no_u_unc", False, True, "part", True),
    Variant("no_d", True, False, "part", True),
    Variant("no_u_no_d", False, False, "part", False),
    Variant("no_dynamics", True, True, "none", True),
    Variant("no_d_no_dynamics", True, False, "none", True),
    Variant("fc_dynamics", True, True, "fc", True),
)}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise InputError(f"unknown regressor variant '{name}' (known: {', '.join(VARIANTS)})") from None


def parse_run(name: str) -> tuple[Variant, int]:
    """A run name -> (variant, seed offset): ``full`` -> (full, 0), ``full-s2`` -> (full, 2)."""
    base, sep, k = name.rpartition("-s")
    if sep and base in VARIANTS and k.isdigit() and int(k) > 0 and str(int(k)) == k:
        return VARIANTS[base], int(k)
    return get_variant(name), 0


def run_names(variant: str, n_seeds: int) -> list[str]:
    """The runs of ``variant`` with ``n_seeds`` seeds: ``[full, full-s1, full-s2]`` for 3."""
    return [variant] + [f"{variant}-s{k}" for k in range(1, int(n_seeds))]
