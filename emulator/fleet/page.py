"""The fleet page at `http://<management address>/`: every device with its address, PID, serial, release,
licences in use, compliance state, next ACK deadline and last report, filterable as you type (and by
compliance state). Rendered on the server from the fleet's summaries; a few lines of script filter."""

from __future__ import annotations

import html

from .control import iso

COLUMNS = ("Hostname", "Address", "PID", "SN", "Release", "Licenses in use", "Compliance", "Next ACK deadline",
           "Last report")

_SCRIPT = """
(function () {
  var input = document.getElementById('filter');
  var state = document.getElementById('compliance');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#devices tbody tr'));
  var count = document.getElementById('shown');
  function apply() {
    var words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var wanted = state.value;
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; }) &&
               (!wanted || row.getAttribute('data-compliance') === wanted);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = String(shown);
  }
  input.addEventListener('input', apply);
  state.addEventListener('change', apply);
  var q = new URLSearchParams(window.location.search).get('q');
  if (q) { input.value = q; }
  apply();
})();
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; white-space: nowrap; }
th { background: #f4f4f6; position: sticky; top: 0; }
tr[data-compliance="ACK OVERDUE"] td.c, tr[data-compliance="NOT AUTHORIZED"] td.c { color: #b00020; font-weight: 600; }
.bar { display: flex; gap: 1rem; align-items: center; margin: 0.8rem 0; }
input[type=search] { width: 24rem; padding: 0.3rem; }
"""


def render_page(service) -> str:
    fleet = service.fleet
    status = service.status()
    devices = sorted(fleet.devices(), key=lambda d: _addr_key(d["address"], d["ports"]["https"]))
    states = sorted({d.get("compliance") or "" for d in devices} - {""})
    rows = []
    for d in devices:
        cells = [d["hostname"], _endpoint(d), d["pid"], d["sn"], d.get("release", ""),
                 ", ".join(d.get("licenses") or []) or "-", d.get("compliance") or "",
                 iso(d.get("next-ack-deadline")), iso(d.get("last-report"))]
        tds = "".join(f'<td class="{"c" if i == 6 else ""}">{html.escape(str(c))}</td>' for i, c in enumerate(cells))
        rows.append(f'<tr data-id="{html.escape(d["id"])}" data-compliance="{html.escape(d.get("compliance") or "")}">'
                    f'{tds}</tr>')
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    options = "".join(f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in states)
    title = f"slpemu fleet {fleet.plan.name}" + (f" shard {fleet.plan.shard}" if fleet.plan.shard else "")
    clock = iso(status["clock"]["now"]) + (" (frozen)" if status["clock"]["frozen"] else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p id="summary">{status['devices']} devices ({status['loaded']} loaded), {status['listeners']} listeners,
clock {html.escape(clock)}</p>
<div class="bar">
<label>Filter <input id="filter" type="search" placeholder="hostname, address, PID, serial, licence…" autofocus></label>
<label>Compliance <select id="compliance"><option value="">any</option>{options}</select></label>
<span><span id="shown">{len(devices)}</span> shown</span>
</div>
<table id="devices"><thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""


def _endpoint(d: dict) -> str:
    ports = d["ports"]
    if ports["https"] == 443:
        return d["address"]
    return f'{d["address"]} (ssh {ports["ssh"]}, netconf {ports["netconf"]}, https {ports["https"]})'


def _addr_key(address: str, port: int):
    try:
        import ipaddress
        return (int(ipaddress.ip_address(address)), port)
    except ValueError:
        return (0, port)
