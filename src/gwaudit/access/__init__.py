"""Effective access (who can reach which models, and which policy decided it) and worst-case spend
exposure (what a principal could spend before a control stops it), as concept views
(:mod:`gwaudit.access.concepts`) and the functions the ``access`` and ``exposure`` commands,
``diff`` and the reports call. The readings taken where the API reference is silent are in
:mod:`gwaudit.access.assumptions`, and nowhere else."""
