#!/usr/bin/env bash
# Checks the lab's report as a browser shows it: renders index.html with headless Chromium to a
# PNG and to a DOM dump, and fails when a plot is missing or empty.
#
#   Scripts/check_report.sh runs/lab/index.html [out-dir]
#
# The page itself has no script. The check renders a copy with a probe appended: for every
# figure (svg.plot) it measures the box the browser laid out and counts the marks it drew with a
# non-empty box (lines with at least two points, dots, heatmap cells, image pixels). Fails when
# the page has no figure, when a figure's box is empty, when a figure drew no mark, when the
# figures differ from those the experiments' result.json files list, or when the screenshot is
# missing or blank.
set -euo pipefail
page=${1:?usage: Scripts/check_report.sh INDEX.html [OUT-DIR]}
out=${2:-$(dirname "$page")/browser-check}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then echo "check_report: no Chromium found (Debian: apt-get install chromium)" >&2; exit 2; fi
[ -f "$page" ] || { echo "check_report: $page: no such file" >&2; exit 2; }
mkdir -p "$out"
dir=$(cd "$(dirname "$page")" && pwd)
probe="$dir/.browser-probe.html"
trap 'rm -f "$probe"' EXIT
sed 's#</body>##; s#</html>##' "$page" > "$probe"
cat >> "$probe" <<'EOF'
<script>
(function () {
  var rows = [];
  document.querySelectorAll("svg.plot").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    var marks = 0;
    svg.querySelectorAll("polyline, circle, rect.cell, g.image rect").forEach(function (m) {
      if (m.tagName === "polyline" && m.points.numberOfItems < 2) return;
      var b = m.getBBox();
      if (b.width > 0 || b.height > 0) marks++;
    });
    rows.push(svg.getAttribute("data-figure") + " " + Math.round(box.width) + "x" + Math.round(box.height) + " marks=" + marks);
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = "figures=" + rows.length + "\n" + rows.join("\n");
  document.body.appendChild(pre);
})();
</script>
</body>
</html>
EOF
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars --allow-file-access-from-files)
"$browser" "${flags[@]}" --virtual-time-budget=5000 --dump-dom "file://$probe" > "$out/dom.html" 2> "$out/chromium.log" || {
    echo "check_report: Chromium failed; see $out/chromium.log" >&2; exit 1; }
"$browser" "${flags[@]}" --window-size=1100,4000 --screenshot="$out/report.png" "file://$dir/$(basename "$page")" >> "$out/chromium.log" 2>&1 || {
    echo "check_report: Chromium's screenshot failed; see $out/chromium.log" >&2; exit 1; }

# The probe's lines, between <pre id="probe"> and </pre>.
sed -n '/<pre id="probe">/,/<\/pre>/p' "$out/dom.html" | sed 's#.*<pre id="probe">##; s#</pre>.*##' | grep -v '^$' > "$out/figures.txt" || true
failures=0
count=$(sed -n 's/^figures=//p' "$out/figures.txt")
if [ -z "$count" ] || [ "$count" -eq 0 ]; then echo "check_report: no figure on the page (see $out/dom.html)" >&2; exit 1; fi
while read -r figure size marks; do
    w=${size%x*}; h=${size#*x}; n=${marks#marks=}
    if [ "$w" -lt 50 ] || [ "$h" -lt 50 ]; then echo "check_report: $figure is laid out $size (empty)" >&2; failures=$((failures + 1)); fi
    if [ "$n" -eq 0 ]; then echo "check_report: $figure draws nothing" >&2; failures=$((failures + 1)); fi
done < <(grep -v '^figures=' "$out/figures.txt")
# Every figure an experiment wrote is on the page.
for json in "$dir"/*/result.json; do
    [ -f "$json" ] || continue
    name=$(basename "$(dirname "$json")")
    for f in $(tr -d '\n ' < "$json" | sed -n 's/.*"figures":\[\([^]]*\)\].*/\1/p' | tr ',' ' ' | tr -d '"'); do
        grep -q "^$name/$f " "$out/figures.txt" || { echo "check_report: $name/$f is missing from the page" >&2; failures=$((failures + 1)); }
    done
done
# The screenshot: present and not blank (a white page compresses to a few kilobytes).
size=$(stat -c %s "$out/report.png" 2>/dev/null || echo 0)
if [ "$size" -lt 20000 ]; then echo "check_report: the screenshot $out/report.png is missing or blank ($size bytes)" >&2; failures=$((failures + 1)); fi
if [ "$failures" -gt 0 ]; then echo "check_report: $failures problem(s) in $page" >&2; exit 1; fi
echo "check_report: $count figures drawn by Chromium ($("$browser" --version 2>/dev/null | head -n 1)); screenshot $out/report.png"
