"""Starting points for ``passerelle new NAME --from TEMPLATE``: a commented flow and its tests.

Each template is a flow and a tests file that pass ``passerelle check`` and ``passerelle
test`` as written; ``{name}`` (the flow name) and ``{slug}`` (the name with ``_`` for ``-``, for
a Slack command or a webhook source) are filled in.
"""

from __future__ import annotations

WEBHOOK_TO_NOTION = (
    """\
name: {name}
description: >
  JSON sent to POST /hooks/{slug} becomes one page in the Feedback database, keyed by the
  sender's id so that a resent item updates its page instead of adding another.
# The source's secret: PASSERELLE_WEBHOOK_SECRET_{env}=<a long random string>, and
# PASSERELLE_WEBHOOK_SCHEME_{env}=github (or typeform, stripe, ...) when the tool signs its
# own way (docs/sources.md). Add `event: <type>` to run only for one event type.
on:
  webhook: {{source: {slug}}}
steps:
  - id: page
    use: notion.upsert_page
    with:
      # The database's title (or its id): `passerelle notion setup` creates Feedback.
      database: ${{NOTION_FEEDBACK_DB:-Feedback}}
      # Same key, same page: a retried delivery changes nothing.
      key: "{slug}:{{{{ event.id or trigger.id }}}}"
      key_property: External ID
      properties:
        # Each value is a template over the JSON body (`event`), the envelope (`trigger`).
        Name: "{{{{ (event.title or event.text or 'Untitled') | first_line | truncate(80) }}}}"
        Details: "{{{{ event.text or '' }}}}"
        Source: Other
        Reporter: "{{{{ event.email or '' }}}}"
""",
    """\
cases:
  - name: an item becomes a page
    event:
      id: "42"
      title: Dark mode please
      text: "Dark mode please\\nat night"
      email: ana@example.com
    stubs:
      page: {{id: p-1, url: "https://www.notion.so/p1"}}
    expect:
      status: succeeded
      calls:
        - step: page
          use: notion.upsert_page
          with:
            key: "{slug}:42"
            properties: {{Name: Dark mode please, Reporter: ana@example.com}}

  - name: another source does not run it
    trigger: {{source: someone-else}}
    expect:
      matched: false
""",
)

SLACK_COMMAND_TO_NOTION = (
    """\
name: {name}
description: >
  /{slug} <text> in Slack files the text as a Feedback page and answers the sender privately
  with a link to it.
on:
  slack.command:
    command: /{slug}
    description: File feedback in Notion
    usage_hint: "[what you heard]"
    ack: "Got it, filing it…"
# Only when there is something to file (an empty /{slug} does nothing).
if: "event.text"
steps:
  - id: page
    use: notion.upsert_page
    with:
      database: ${{NOTION_FEEDBACK_DB:-Feedback}}
      # Slack's trigger id is unique per command: a retry by Slack files nothing twice.
      key: "slack-command:{{{{ trigger.id }}}}"
      properties:
        Name: "{{{{ event.text | strip_hashtags | first_line | truncate(80) }}}}"
        Details: "{{{{ event.text }}}}"
        Source: Slack
        Tags: "{{{{ event.text | hashtags }}}}"
        Reporter Slack ID: "{{{{ event.user_id }}}}"
  - use: slack.respond
    with:
      text: "Saved: <{{{{ steps.page.url }}}}|{{{{ steps.page.title }}}}>"
""",
    """\
cases:
  - name: the text becomes a page and the sender gets its link
    event: {{command: /{slug}, text: "Export to PDF #billing", user_id: U1, channel_id: C1}}
    stubs:
      page: {{id: p-1, url: "https://www.notion.so/p1", title: Export to PDF}}
    expect:
      status: succeeded
      calls:
        - step: page
          with:
            properties:
              Name: Export to PDF
              Source: Slack
              Tags: [billing]
              Reporter Slack ID: U1
        - use: slack.respond
          with: {{text: "Saved: <https://www.notion.so/p1|Export to PDF>"}}

  - name: an empty command files nothing
    event: {{command: /{slug}, text: "", user_id: U1}}
    expect:
      matched: false
""",
)

NOTION_CHANGE_TO_SLACK = (
    """\
name: {name}
description: >
  When a Feedback page's Status changes to Shipped, a message in the product channel says so.
on:
  notion.page:
    database: ${{NOTION_FEEDBACK_DB:-Feedback}}
    changed: Status
    # Leave `to` out to hear about every change; `from: Planned` narrows further.
    to: Shipped
steps:
  - use: slack.post
    with:
      channel: ${{PRODUCT_CHANNEL:-product}}
      # `event.changes` holds {{old, new}} per changed property; `event.page` every property.
      text: >-
        Shipped: <{{{{ event.url }}}}|{{{{ event.title }}}}>
        (was {{{{ event.changes.Status.old or 'unset' }}}})
""",
    """\
cases:
  - name: a page set to Shipped is announced
    event:
      database_title: Feedback
      title: Export to PDF
      url: "https://www.notion.so/p1"
      changes: {{Status: {{old: Planned, new: Shipped}}}}
    expect:
      status: succeeded
      calls:
        - use: slack.post
          with:
            channel: product
            text: "Shipped: <https://www.notion.so/p1|Export to PDF> (was Planned)"

  - name: another status change is not
    event:
      database_title: Feedback
      changes: {{Status: {{old: New, new: Planned}}}}
    expect:
      matched: false
""",
)

TEMPLATES: dict[str, tuple[str, str]] = {
    "webhook-to-notion": WEBHOOK_TO_NOTION,
    "slack-command-to-notion": SLACK_COMMAND_TO_NOTION,
    "notion-change-to-slack": NOTION_CHANGE_TO_SLACK,
}


def render(template: str, name: str) -> tuple[str, str]:
    """The flow and tests texts of ``template`` for a flow called ``name``."""
    flow, tests = TEMPLATES[template]
    slug = name.replace("_", "-")[:32]
    env = name.upper().replace("-", "_")
    return (flow.format(name=name, slug=slug, env=env), tests.format(name=name, slug=slug))
