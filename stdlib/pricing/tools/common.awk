# common.awk — helpers shared by the catalog generators (POSIX awk).
# jnum: a number as JSON, or null for an empty cell.
function jnum(x) { return (x == "" ? "null" : x + 0) }
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
