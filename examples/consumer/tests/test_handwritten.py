"""A hand-written check next to the suites: the fixtures reach the same engine, cache and golden."""


def test_candidate_keeps_the_refund_policy(arcanos_target, arcanos_scorers):
    answer = arcanos_target("candidate")(
        "I bought the Ember Pack by accident five minutes ago, can I get my gems back?"
    )
    assert arcanos_scorers.not_contains(answer, text="no refunds").passed
