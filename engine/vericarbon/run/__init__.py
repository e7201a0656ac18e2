"""Stage 7: running rules. Takes a validated package and compiled rulesets; gives the canonical result
document (verdict, findings with clause, pointer and values, explain traces), merges an auditor's answers,
and runs each rule's own test cases.
"""
