"""`glee serve-agents`: the GLEE competition's agent API served locally (glee-sdk agents play glee's players)."""
