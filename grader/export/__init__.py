"""Exports of the bank for other classrooms: Moodle XML, Canvas QTI, and the instructors' preview site.

Each export draws the same pre-drawn variants (keys `v1` … `vN`, `grader.export.common.draw_variants`),
so variant 3 in Moodle, in Canvas and in the preview are the same values. Per-kind conversion lives in
one registry dict per format (`MOODLE_BY_KIND`, `QTI_BY_KIND`, `ANSWER_VIEW_BY_KIND`).
"""
