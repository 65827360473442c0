"""Reading and writing tables (CSV or Excel) with the headers hotlines actually use."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Header aliases (lower-cased, spaces removed) → canonical column name.
HEADER_ALIASES: dict[str, str] = {
    # taxonomy
    "一级分类": "level1", "一级": "level1", "一级类别": "level1",
    "二级分类": "level2", "二级": "level2", "二级类别": "level2",
    "三级分类": "level3", "三级": "level3", "三级类别": "level3",
    "编码": "code", "分类编码": "code", "代码": "code", "分类代码": "code",
    "描述": "description", "说明": "description",
    # units
    "名称": "name", "单位名称": "name", "承办单位名称": "name",
    "职责": "duty", "职能": "duty", "职责范围": "duty",
    "区": "district", "辖区": "district", "所属区": "district", "区域": "district",
    "电话": "phone", "联系电话": "phone", "地址": "address", "单位类型": "kind", "类型": "kind",
    # answers
    "编号": "id", "问题": "question", "问法": "question", "标准问题": "question",
    "答案": "answer", "答复": "answer", "答复口径": "answer", "回复": "answer",
    "标准答案": "answer",
    "标题": "title", "承办单位": "unit", "单位": "unit", "来源": "source", "依据": "source",
    "状态": "status", "生效日期": "effective_from", "失效日期": "expires_on",
    "到期日期": "expires_on", "诉求类型": "request_type", "category": "category_code",
    "category_code": "category_code",
}


class TableError(ValueError):
    """A file that cannot be read as a table at all (wrong format, encoding, no header)."""


@dataclass
class Table:
    """Rows as dicts keyed by canonical column names; ``line`` is the 1-based file row."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # canonical name → header as written


def canonical(header: str) -> str:
    key = header.strip().lstrip("\ufeff").replace(" ", "").lower()
    return HEADER_ALIASES.get(key, key)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("the file is neither UTF-8 nor GB18030 text: save it as UTF-8 CSV or .xlsx")


def _build(raw_rows: Iterable[tuple[int, Sequence[object]]]) -> Table:
    iterator = iter(raw_rows)
    for _line, header in iterator:
        if any(_cell(h) for h in header):
            break
    else:
        raise TableError("the file has no header row: the first row must name the columns")
    columns = [canonical(_cell(h)) for h in header]
    dupes = {c for c in columns if c and columns.count(c) > 1}
    if dupes:
        raise TableError(f"columns appear twice: {', '.join(sorted(dupes))}")
    table = Table(columns=[c for c in columns if c],
                  headers={c: _cell(h).lstrip("\ufeff") for c, h in zip(columns, header,
                                                                       strict=False) if c})
    for line, values in iterator:
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        if len(cells) > len(columns) and any(cells[len(columns):]):
            table.problems.append((line, f"{len(cells)} fields but the header has "
                                         f"{len(columns)} (an unquoted comma?)"))
            continue
        row = {col: cells[i] if i < len(cells) else "" for i, col in enumerate(columns) if col}
        table.rows.append((line, row))
    return table


def read_table(data: bytes, filename: str) -> Table:
    """Parse CSV (UTF-8 or GB18030) or Excel (.xlsx) bytes into a :class:`Table`."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(data)
    if suffix in (".xls",):
        raise TableError("old .xls files are not supported: save the sheet as .xlsx or CSV")
    if data[:4] == b"PK\x03\x04":
        return _read_excel(data)
    text = _decode(data)
    if "\x00" in text:
        raise TableError("the file contains NUL bytes: it is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _build((reader.line_num, row) for row in reader)
    except csv.Error as e:
        raise TableError(f"CSV syntax error near line {reader.line_num}: {e}") from e


def _read_excel(data: bytes) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise TableError(f"not a readable Excel .xlsx file ({e}); save it again as .xlsx or CSV") \
            from e
    sheet = workbook.worksheets[0]
    return _build(enumerate(sheet.iter_rows(values_only=True), start=1))


def write_table(path: Path, columns: list[str], rows: Iterable[dict[str, object]]) -> None:
    """Write rows to ``path`` as CSV (UTF-8 with BOM, opens in Excel) or .xlsx by its suffix."""
    rows = list(rows)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(path.stem)
        sheet.append(columns)
        for row in rows:
            sheet.append([_cell(row.get(c)) for c in columns])
        workbook.save(tmp)
    else:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(c)) for c in columns])
    tmp.replace(path)
