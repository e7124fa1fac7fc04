"""The review queue on disk: a CSV for tools, or one static HTML page for people.

The page is a single self-contained file (no scripts or styles fetched from anywhere, so it
opens offline and can be attached to a ticket): a table in score order whose columns sort on
a click, and per row a small bar chart of its top features' contributions, each labelled
with the row's value, the training median and the row's training percentile. The sort is
kept in the address (`#sort=score-desc`), so a link opens the page sorted the same way.
Both files are written to a temporary file and moved into place, so a failed run never
leaves half a file.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from components.review.queue import ReviewError
from components.review.report import Review, feature_columns

SUFFIXES = (".html", ".csv")
SORTABLE = {  # column -> (header, type)
    "rank": ("#", "number"),
    "id": ("id", "text"),
    "score": ("score", "number"),
    "flagged": ("flagged", "text"),
    "reason": ("why queued", "text"),
    "margin": ("margin to threshold", "number"),
}
_BAR_WIDTH, _LABEL_WIDTH, _LINE = 120, 330, 16

STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#1d2433}
h1{font-size:20px;margin:0 0 4px}
p.about{color:#56607a;margin:0 0 16px}
table{border-collapse:collapse}
th,td{padding:6px 10px;border-bottom:1px solid #e3e6ee;text-align:left;vertical-align:top}
th{background:#f4f6fb;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
td.num{font-variant-numeric:tabular-nums;text-align:right}
tr.flagged td:first-child{border-left:3px solid #c2410c}
svg text{font:11px system-ui,sans-serif;fill:#1d2433}
"""

SCRIPT = """
const body = document.querySelector("#queue tbody");
const heads = [...document.querySelectorAll("#queue th[data-key]")];
function sortBy(key, dir) {
  const head = heads.find(h => h.dataset.key === key);
  if (!head) return;
  const numeric = head.dataset.type === "number";
  const value = row => numeric ? parseFloat(row.dataset[key]) : row.dataset[key];
  const rows = [...body.rows].sort((a, b) => {
    const x = value(a), y = value(b);
    const order = numeric ? x - y : String(x).localeCompare(String(y));
    return dir === "asc" ? order : -order;
  });
  rows.forEach(row => body.appendChild(row));
  heads.forEach(h => h.removeAttribute("aria-sort"));
  head.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
  history.replaceState(null, "", "#sort=" + key + "-" + dir);
}
heads.forEach(h => h.addEventListener("click", () => {
  const now = h.getAttribute("aria-sort");
  sortBy(h.dataset.key, now === "descending" ? "asc" : "desc");
}));
const asked = /^#sort=([a-z_]+)-(asc|desc)$/.exec(location.hash);
if (asked) sortBy(asked[1], asked[2]);
"""


def check_output(path: Path) -> Path:
    """Refuse an output name we cannot write before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ReviewError(f"{path}: the review is written as {' or '.join(SUFFIXES)}; rename it")
    if not path.parent.is_dir():
        raise ReviewError(f"{path}: folder {path.parent} does not exist; create it first")
    return path


def write_review(review: Review, path: Path, title: str) -> Path:
    """Write the queue as CSV or HTML (by suffix), atomically."""
    path = check_output(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.suffix.lower() == ".csv":
            review.rows.to_csv(tmp, index=False)
        else:
            tmp.write_text(render_html(review, title), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def render_html(review: Review, title: str) -> str:
    """The page as one string."""
    about = review.about
    summary = (
        f"{about['queued']} of {about['reviewable']} rows without a verdict "
        f"({about['records']} records); {about['method']} model, threshold "
        f"{about['threshold']:.4g}; uncertain share {about['uncertain_share']:g} "
        f"({about['uncertainty']}); contributions by {about['attribution']}."
    )
    sorted_by = {"score": ' aria-sort="descending"'}  # the order rows are written in
    heads = "".join(
        f'<th data-key="{key}" data-type="{kind}"{sorted_by.get(key, "")}>{label}</th>'
        for key, (label, kind) in SORTABLE.items()
    )
    shares = review.rows.filter(like="contribution_").abs().to_numpy()
    longest = float(shares.max()) if shares.size else 1.0
    rows = "\n".join(_row(r, longest) for r in review.rows.to_dict("records"))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f'<h1>{html.escape(title)}</h1>\n<p class="about">{html.escape(summary)}</p>\n'
        f'<table id="queue"><thead><tr>{heads}<th>top features (contribution share)</th>'
        f"</tr></thead>\n<tbody>\n{rows}\n</tbody></table>\n"
        f'<script type="application/json" id="about">{_json(about)}</script>\n'
        f"<script>{SCRIPT}</script>\n</body></html>\n"
    )


def _row(record: dict[str, Any], longest: float) -> str:
    flagged = "yes" if record["flagged"] else "no"
    data = {**{k: record[k] for k in SORTABLE}, "flagged": flagged}
    attrs = " ".join(f'data-{k}="{html.escape(str(v), quote=True)}"' for k, v in data.items())
    cells = [
        f'<td class="num">{record["rank"]}</td>',
        f"<td>{html.escape(str(record['id']))}</td>",
        f'<td class="num">{record["score"]:.4g}</td>',
        f"<td>{flagged}</td>",
        f"<td>{html.escape(record['reason'])}</td>",
        f'<td class="num">{record["margin"]:.3g}</td>',
        f"<td>{_bars(record, longest)}</td>",
    ]
    css = ' class="flagged"' if record["flagged"] else ""
    return f"<tr{css} {attrs}>{''.join(cells)}</tr>"


def _bars(record: dict[str, Any], longest: float) -> str:
    """An inline SVG: one labelled bar per top feature, its length |share| relative to the
    page's longest, green when it pushed the score up, grey when down."""
    k = 1
    parts = []
    while f"feature_{k}" in record:
        name, value, median, percentile, share = (record[c] for c in feature_columns(k))
        y = (k - 1) * _LINE
        label = f"{name} = {value:.4g} (p{percentile:.0f}; median {median:.4g})"
        width = max(1.0, abs(share) / max(longest, 1e-12) * _BAR_WIDTH)
        colour = "#15803d" if share >= 0 else "#9ca3af"
        parts.append(
            f'<text x="0" y="{y + 12}">{html.escape(label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="10" '
            f'fill="{colour}"><title>{share:+.2f}</title></rect>'
            f'<text x="{_LABEL_WIDTH + width + 4:.1f}" y="{y + 12}">{share:+.2f}</text>'
        )
        k += 1
    height = (k - 1) * _LINE + 2
    width = _LABEL_WIDTH + _BAR_WIDTH + 40
    return f'<svg class="bars" width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'


def _json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(data, default=str).replace("</", "<\\/")


def frame_for_artifact(review: Review) -> list[dict[str, Any]]:
    """The queue as plain records (rounded), for a Prefect table artifact."""
    rows = review.rows.copy()
    numeric = rows.select_dtypes("number").columns
    rows[numeric] = rows[numeric].round(4)
    return [{k: _plain(v) for k, v in r.items()} for r in rows.to_dict("records")]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
