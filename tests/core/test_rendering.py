"""The one Markdown renderer reads Markdown as people write it, and stays sanitized."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from core.rendering import render, without_attachments


def _tags(html: str) -> list[str]:
    return re.findall(r"<([a-z0-9]+)", html)


class TestListsAsPeopleWriteThem:
    def test_a_list_right_after_a_paragraph_is_a_list(self):
        html = render("What we saw:\n- errors on checkout\n- slow search")

        assert html == (
            "<p>What we saw:</p>\n<ul>\n<li>errors on checkout</li>\n<li>slow search</li>\n</ul>"
        )

    def test_a_numbered_list_right_after_a_paragraph_is_a_list_when_it_starts_at_one(self):
        html = render("Steps:\n1. roll back\n2. watch the error rate")

        assert _tags(html) == ["p", "ol", "li", "li"]

    def test_a_wrapped_line_that_starts_with_another_number_stays_text(self):
        html = render("The fix shipped in version\n7. Nobody noticed before.")

        assert "<ol>" not in html
        assert "version<br>\n7. Nobody" in html

    def test_a_list_after_a_blank_line_renders_as_before(self):
        assert render("What we saw:\n\n- errors") == render("What we saw:\n- errors")

    def test_each_list_after_its_own_paragraph_is_split_off(self):
        html = render("Before:\n- one\n\nAfter:\n* two")

        assert _tags(html) == ["p", "ul", "li", "p", "ul", "li"]

    def test_bullets_indented_under_a_numbered_step_nest_inside_it(self):
        html = render("1. Roll back\n   - stop the deploy\n   - pick the last good build\n2. Watch")

        assert html == (
            "<ol>\n<li>Roll back<ul>\n<li>stop the deploy</li>\n<li>pick the last good build</li>"
            "\n</ul>\n</li>\n<li>Watch</li>\n</ol>"
        )

    def test_a_list_right_after_a_quoted_line_stays_in_the_quote(self):
        html = render("> They said:\n> - it was the cache\n> - it was DNS")

        assert _tags(html) == ["blockquote", "p", "ul", "li", "li"]

    def test_a_dash_inside_fenced_code_stays_code(self):
        html = render("Run:\n\n```\nmake check\n- not a list\n```")

        assert "<pre><code>make check\n- not a list</code></pre>" in html
        assert "<li>" not in html

    def test_a_single_line_paragraph_is_untouched(self):
        assert render("Just one line - with a dash") == "<p>Just one line - with a dash</p>"


class TestTaskLists:
    def test_task_list_items_are_disabled_checkboxes_ticked_or_not(self):
        html = render("- [ ] add the pre-deploy check\n- [x] roll back")

        assert html == (
            '<ul class="task-list">\n'
            '<li class="task-list-item"><input type="checkbox" disabled=""> add the pre-deploy'
            " check</li>\n"
            '<li class="task-list-item"><input type="checkbox" disabled="" checked=""> roll back'
            "</li>\n</ul>"
        )

    def test_a_task_list_right_after_a_paragraph_is_a_task_list(self):
        html = render("Before Friday:\n- [ ] write the runbook")

        assert '<p>Before Friday:</p>\n<ul class="task-list">' in html

    @pytest.mark.parametrize(
        "raw",
        [
            '<input type="text" value="x" autofocus onfocus="alert(1)">',
            '<input type="image" src="x" formaction="javascript:alert(1)">',
            '<input type="hidden" name="csrfmiddlewaretoken" value="x">',
            '<input type="submit" form="logout">',
        ],
    )
    def test_any_other_input_in_the_source_becomes_a_disabled_checkbox(self, raw):
        html = render(f"text {raw}")

        assert re.findall(r"<input[^>]*>", html) == ['<input type="checkbox" disabled="">']
        for word in ("alert", "autofocus", "formaction", "name=", "value=", "form=", "src="):
            assert word not in html

    def test_a_ticked_box_in_raw_html_stays_ticked_and_disabled(self):
        html = render('<input type="checkbox" checked onclick="alert(1)">')

        assert html == '<p><input type="checkbox" disabled="" checked=""></p>'

    def test_the_same_text_renders_to_the_same_bytes_every_time(self):
        text = "- [x] done\n- [ ] open <input type=text checked>"

        assert len({render(text) for _ in range(20)}) == 1

    def test_only_the_task_list_classes_are_kept(self):
        html = render('<ul class="task-list evil"><li class="task-list-item x">a</li></ul>')

        assert 'class="task-list"' in html
        assert 'class="task-list-item"' in html
        assert "evil" not in html


class TestStrikethroughTablesAndCode:
    def test_two_tildes_strike_through(self):
        assert render("~~rolled back~~ fixed") == "<p><del>rolled back</del> fixed</p>"

    def test_one_tilde_is_an_estimate_not_a_subscript(self):
        assert render("took ~5 minutes, then ~10") == "<p>took ~5 minutes, then ~10</p>"

    def test_tables_render(self):
        html = render("| time | what |\n|:--|--:|\n| 06:02 | deploy |")

        assert _tags(html) == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"]
        assert '<th align="left">time</th>' in html
        assert '<td align="right">deploy</td>' in html

    def test_fenced_code_keeps_its_language_and_escapes_its_content(self):
        html = render("```sh\necho '<b>' && make run\n```")

        assert html == (
            "<pre><code class=\"language-sh\">echo '&lt;b&gt;' &amp;&amp; make run</code></pre>"
        )

    def test_fenced_code_inside_a_list_item_is_code(self):
        html = render("1. roll back:\n\n    ```\n    make rollback\n    ```\n\n2. watch")

        assert "<li>\n<p>roll back:</p>\n<pre><code>make rollback</code></pre>\n</li>" in html

    def test_tilde_fences_work_too(self):
        assert render("~~~\nplain\n~~~") == "<pre><code>plain</code></pre>"


class TestStillSanitized:
    @pytest.mark.parametrize(
        "source",
        [
            "[click](javascript:alert(1))",
            "[click](JavaScript:alert(1))",
            "[click](  javascript:alert(1))",
            "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[click](vbscript:msgbox(1))",
            "<a href='javascript:alert(1)'>click</a>",
            "[click][ref]\n\n[ref]: javascript:alert(1)",
            "- [ ] [click](javascript:alert(1))",
            "| a |\n|---|\n| [click](javascript:alert(1)) |",
        ],
    )
    def test_script_links_stay_inert(self, source):
        html = render(source)

        assert "javascript" not in html.lower()
        assert "data:" not in html
        assert "vbscript" not in html
        assert "href" not in html

    @pytest.mark.parametrize(
        "source",
        [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg onload=alert(1)>",
            "<iframe src=https://example.com></iframe>",
            "<form action=/logout><button>go</button></form>",
            '<p onclick="alert(1)">hi</p>',
            '<span style="position:fixed">over</span>',
            "~~<script>alert(1)</script>~~",
            "```\n</code></pre><script>alert(1)</script>\n```",
        ],
    )
    def test_raw_html_cannot_run_or_restyle_the_page(self, source):
        html = render(source)

        for tag in ("<script", "<img", "<svg", "<iframe", "<form", "<button"):
            assert tag not in html
        for attribute in ("onerror", "onload", "onclick", "style=", "src="):
            assert attribute not in html

    def test_links_that_stay_get_rel_nofollow(self):
        assert render("[docs](https://example.com/runbook)") == (
            '<p><a href="https://example.com/runbook" rel="noopener noreferrer nofollow">docs</a>'
            "</p>"
        )

    def test_empty_text_renders_to_nothing(self):
        assert render("") == ""


def test_the_public_copy_without_attachments_keeps_task_ticks_as_disabled_checkboxes():
    html = without_attachments(
        render(
            "Before we close it:\n- [x] rolled back\n- [ ] see ![graph](/attachments/3/graph.png)"
        )
    )
    assert "<img" not in html
    assert html.count("<input") == 2
    assert html.count('<input type="checkbox" disabled=""') == 2
    assert html.count('checked=""') == 1


class TestCostlyText:
    """Text that would exhaust the renderer or keep a worker busy for seconds is refused with a
    clear message, never a 500."""

    @pytest.mark.parametrize(
        "text",
        [
            "1. " * 3000,  # RecursionError in Python-Markdown's list processor
            "> " * 300 + "deep",
            "<ul>" * 25000,  # 7 s in the sanitizer before the budget
            "<b>" * 33333,  # 3.5 s in Python-Markdown before the budget
            "x<i>" * 2001,
        ],
    )
    def test_is_refused_with_a_validation_error(self, text):
        with pytest.raises(ValidationError) as refused:
            render(text)
        assert refused.value.code in {"markdown_too_deep", "markdown_too_many_tags"}

    @pytest.mark.parametrize(
        "text",
        [
            "- item\n" * 2000,
            "<b>bold</b> and <kbd>Ctrl</kbd><br>" * 300,
            "> " * 20 + "quoted",
            "a < b and c > d " * 5000,
        ],
    )
    def test_long_ordinary_text_still_renders(self, text):
        assert render(text)

    def test_a_refused_text_leaves_the_renderer_as_it_was(self):
        before = render("What we saw:\n- errors")
        with pytest.raises(ValidationError):
            render("1. " * 3000)
        assert render("What we saw:\n- errors") == before
