"""vericarbon: check greenhouse-gas evidence packages against declarative YAML rulesets."""

__version__ = "0.1.0"
