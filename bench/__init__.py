"""`make bench`: the pipeline against the engines' own floor, per stage, at several sizes.

`python -m bench --help` lists the options; bench/README.md says what is measured and how.
"""
