from tests import builders as b


def test_referral_commission_and_refund(ledger):
    ledger.ok(
        b.program(), *b.partner("p1"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"platform_fee": "100.00", "setup": "50.00"}, tax="19.00"),
    )
    assert ledger.balance("p1")["earned"] == "50.00"  # promo slot: 50 % of the platform fee only
    ledger.ok(b.refund("r1", "pay1", "84.50"))
    assert ledger.balance("p1")["clawed_back"] == "25.00"
    assert ledger.cli_json("balance", "p1")["currencies"]["USD"]["balance"] == "25.00"
