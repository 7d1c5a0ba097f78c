"""The README's Python example runs and prints what the README says it prints."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_output_matches_its_comments():
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL).group(1)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(block, str(README), "exec"), {})
    printed = stdout.getvalue().splitlines()
    assert printed[0] == re.search(r"print\(synthetic.text\)\n# (.*)\n", block).group(1)
    assert printed[2] == re.search(r"synthetic_alignment\[0\]\)\s+# (.*)\n", block).group(1)
    assert printed[3] == re.search(r"synthetic_report\)\s+# (.*)\n", block).group(1)
