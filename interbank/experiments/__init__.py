"""Reproductions of published contagion results (Gai-Kapadia 2010, Nier et al. 2007, DebtRank 2012)
with interbank's own core."""
