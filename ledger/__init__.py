"""The write side: aggregates, rules, the commission policy, money and the store."""
