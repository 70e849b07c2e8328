"""The report in Markdown, fit to paste into a pull request or an issue.

Text from the logs (models, sources, ids) is escaped so it cannot break the tables,
inject markup or reach a terminal as a control sequence (`escape.markdown_text`).
"""

from __future__ import annotations

from traceviz.escape import markdown_text as escape
from traceviz.report import headline
from traceviz.report.aggregate import Report
from traceviz.report.sections import PAGE_TOP, sections


def render(report: Report) -> str:
    lines = ["# traceviz report", "", "## At a glance", ""]
    lines += [
        f"- **{escape(item.label)}: {escape(item.value)}**"
        + (f" {escape(item.detail)}" if item.detail else "")
        for item in headline.items(report)
    ]
    lines.append("")
    for section in sections(report, PAGE_TOP):
        lines += [f"## {escape(section.title)}", ""]
        if section.header:
            lines.append("| " + " | ".join(escape(h) if h else " " for h in section.header) + " |")
            aligns = [
                "---" if i < section.numeric_from else "---:" for i in range(len(section.header))
            ]
            lines.append("| " + " | ".join(aligns) + " |")
            lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in section.rows]
            lines.append("")
        if section.more:
            lines += [escape(section.more), ""]
        lines += [f"- {escape(note)}" for note in section.notes]
        if section.notes:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
