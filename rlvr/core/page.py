"""The page around a run report: one self-contained HTML document that loads nothing.

    page = html_page(escape("rlvr report: run 1"), "<h1>...</h1>", script="")

Shared by the training report (`rlvr.training.report`) and the experiments' reports, which sit a
layer below training. The Content-Security-Policy forbids every fetch, so the page works offline
by construction and text that slipped past escaping could load nothing; inline style and script
are allowed because the page carries its own.
"""

from __future__ import annotations

import html
from typing import Any


def escape(value: Any) -> str:
    """Text for an HTML element or a quoted attribute.

    >>> escape('<script>"x"</script>')
    '&lt;script&gt;&quot;x&quot;&lt;/script&gt;'
    """
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def html_page(title: str, body: str, script: str = "", style: str = "") -> str:
    """The whole document around `body`; `title`, `body`, `script` and the extra `style` must be
    escaped or trusted already (they are placed as they come)."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
        'script-src \'unsafe-inline\'; img-src data:">\n'
        '<link rel="icon" href="data:,">\n'  # no favicon request
        f"<title>{title}</title>\n<style>{STYLE}{style}</style></head>\n<body>\n{body}\n<script>{script}</script>\n"
        "</body></html>\n"
    )


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; margin-top: 1.6em; }
.muted { color: #666; } .error { color: #a00; }
.notes { background: #fff6e0; border: 1px solid #e8c870; padding: 0.5em 1em; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ddd; padding: 3px 7px; vertical-align: top; }
th { background: #f4f4f4; text-align: left; } table.facts th { width: 22em; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; max-width: 32em; }
.charts { display: flex; flex-wrap: wrap; gap: 0 1.5em; } .charts > * { flex: 0 1 520px; }
figure { margin: 0.8em 0; } svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg .title { font-size: 14px; font-weight: 600; } svg .plot { fill: none; stroke: #999; }
svg .grid { stroke: #e6e6e6; } svg .axis { stroke: #999; }
svg .marker { stroke: #555; stroke-dasharray: 5 4; } svg .marker-label { fill: #555; }
tr.correct td:nth-child(2) { color: #080; } tr.incorrect td:nth-child(2) { color: #b00; }
.filters button { margin-right: 0.4em; } .filters button[aria-pressed="true"] { font-weight: 700; }
"""
