"""octolint's built-in rules, one module each (installed as ``octolint_rules``).

Every module here is a rule registered through the ``octolint.rules`` entry
point group, exactly as a third-party rule would be. To add a rule, add a
module (copy a small one such as ``oct102_cmd``) and one line under
``octolint.rules`` in setup.cfg.
"""
