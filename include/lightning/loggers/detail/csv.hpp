#pragma once
// CSV as Python's `csv` module writes it (excel dialect: `,` separator,
// minimal `"` quoting, "\r\n" line ends) and a reader for those files.
#include <string>
#include <string_view>
#include <vector>

namespace lightning::detail::csv {

/// Appends one row: fields quoted only when they hold `,`, `"`, CR or LF,
/// with `"` doubled; a row of one empty field is written `""`, like Python.
void append_row(std::string& out, const std::vector<std::string>& fields);

/// Parses CSV text (quoted fields may hold separators, quotes and line
/// breaks); blank lines are skipped, as `csv.DictReader` does.
std::vector<std::vector<std::string>> parse(std::string_view text);

}  // namespace lightning::detail::csv
