"""Stage 1: evidence. Takes a file, bytes or a dict; gives a `Package` (its kind, schema version, data and
hash) validated against its JSON Schema, or an error naming the file, the pointer and what is wrong.

documents (JSON/YAML reading with line-located errors) → package (SchemaStore, load and validate) ;
shapes describes the schema's fields to the expression type checker; serials holds the registries' serial
grammars. The ways data comes in from outside (registry exports, statement tables, workbooks) are the next
stage, `vericarbon.importers`, which this stage knows nothing of.
"""
