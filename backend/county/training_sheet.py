"""The workbook's sheet 培训台帐: the month's sessions, then the year's figures by kind,
township, village and month, the year's and the programme's totals, the poor villages'
e-commerce leaders and the stations whose keeper was trained — all from training's one read
model (`year_figures`), as the training page and the API show them for the same year.
"""

from __future__ import annotations

import datetime
from typing import Any

from backend.county import targets
from backend.county.store.places import CountyRow
from backend.i18n import translate
from backend.training import figures as training

TITLE = "培训台帐"
HEADERS = ["培训日期", "标题", "培训类别", "乡镇", "村", "授课人", "学时（小时）", "培训人次",
           "脱贫户人次"]  # fmt: skip
FIGURE_HEADERS = ["场次", "培训人次", "培训人数", "脱贫户人次", "脱贫户人次占比（%）", "脱贫户人数",
                  "脱贫户占培训人数比例（%）"]  # fmt: skip


def _pct(fraction: float) -> float:
    return round(fraction * 100, 1)


def _figures(label: str, totals: training.Totals) -> list[Any]:
    return [label, totals.sessions, totals.trainee_visits, totals.people,
            totals.poor_trainee_visits, _pct(totals.poor_share), totals.poor_people,
            _pct(totals.poor_people_share)]  # fmt: skip


def _kind(kind: str) -> str:
    return translate(f"training.kind.{kind}", "zh-CN")


async def rows(county: CountyRow, first: datetime.date, last: datetime.date) -> list[list[Any]]:
    """The sheet's rows under HEADERS: the sessions held in the month (oldest first), a blank
    row, then the year's figures, each block under its own header row."""
    year = await training.year_figures(county.id, first.year, await targets.programme_start(county))
    lines: list[list[Any]] = [
        [s.held_on, s.title, _kind(s.kind), s.township_name, s.village_name, s.trainer, s.hours,
         s.trainee_visits, s.poor_trainee_visits]
        for s in sorted(year.sessions, key=lambda s: s.held_on)
        if first <= s.held_on <= last
    ]  # fmt: skip
    lines.append([])
    lines.append([f"{year.year} 年分类别", *FIGURE_HEADERS])
    lines += [_figures(_kind(row.key), row.totals) for row in year.by_kind]
    lines.append([f"{year.year} 年分乡镇", *FIGURE_HEADERS])
    lines += [_figures(row.name or "未填乡镇", row.totals) for row in year.by_township]
    lines.append([f"{year.year} 年分村", *FIGURE_HEADERS])
    lines += [_figures(row.name or "未填村", row.totals) for row in year.by_village]
    lines.append([f"{year.year} 年分月", *FIGURE_HEADERS])
    lines += [_figures(row.key, row.totals) for row in year.by_month]
    lines.append(["合计", *FIGURE_HEADERS])
    lines.append(_figures(f"{year.year} 年", year.totals))
    if year.since_start is not None:
        since = year.since_start
        lines.append(_figures(f"自项目开始（{since.start} 至 {since.end}）", since.totals))
    leaders, keepers = year.leaders, year.keepers
    lines.append(["贫困村电商带头人", "有带头人的贫困村（个）", "贫困村（个）", "占比（%）"])
    lines.append(["", leaders.with_leader, leaders.poor_villages, _pct(leaders.share)])
    lines.append([f"{year.year} 年站长培训", "站点编码", "站点", "培训人次"])
    lines += [["", k.code, k.name, k.trainee_visits] for k in keepers.trained]
    lines.append(["在营站点（个）", keepers.open_stations, "其中站长未培训（个）",
                  keepers.open_untrained])  # fmt: skip
    return lines
