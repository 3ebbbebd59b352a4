"""`stance-summary`: a labelled archive's figures per outlet, period, target or any article column.

    from pipeline.commands.summary import summarise
    tables = summarise("labels/", by=["outlet", "month"])   # {"outlet": {"speakers": DataFrame, ...}, ...}
"""
from pipeline.commands.summary.frames import summarise

__all__ = ["summarise"]
