import TokenMDP
