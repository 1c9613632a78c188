from __future__ import annotations

import pytest

from stun_client import Account, InsufficientFundsError, StunClient


def test_new_account_faucet_stake_ledger(server_url: str) -> None:
    created = StunClient.create_account(server_url)
    assert created.account_id.startswith("acc_") and created.api_key
    with StunClient(f"{server_url}/api/v1/", created.api_key) as c:
        assert c.account() == Account(created.account_id, 0, 0, 0, raw=c.account().raw)
        after = c.faucet(5000)
        assert after.balance == 5000 and isinstance(after.balance, int)
        assert after.raw["balance"] == "5000"  # strings on the wire
        staked = c.stake(2000)
        assert (staked.balance, staked.stake) == (3000, 2000)
        back = c.unstake("500")
        assert (back.balance, back.stake) == (3500, 1500)
        with pytest.raises(InsufficientFundsError) as e:
            c.unstake(1501)
        assert (e.value.status, e.value.code) == (402, "INSUFFICIENT_FUNDS")
        ledger = c.ledger(limit=10)
        assert any(entry.amount == 5000 for entry in ledger)
        assert all(isinstance(entry.amount, int) for entry in ledger)


def test_with_api_key_shares_the_settings(server_url: str, client: StunClient) -> None:
    created = StunClient.create_account(server_url)
    other = client.with_api_key(created.api_key)
    assert type(other) is StunClient and other.base_url == client.base_url
    assert other.account().account_id == created.account_id


def test_amounts_are_integers_never_floats(client: StunClient) -> None:
    with pytest.raises(TypeError):
        client.faucet(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.faucet(True)
    with pytest.raises(ValueError):
        client.faucet(-1)
    with pytest.raises(ValueError):
        client.faucet("1e3")


def test_big_amounts_stay_exact(server_url: str) -> None:
    created = StunClient.create_account(server_url)
    with StunClient(server_url, created.api_key) as c:
        per_call = 10**15  # the faucet's cap per call
        for _ in range(10):
            c.faucet(per_call)
        total = c.faucet(1).balance
        assert total == 10**16 + 1  # past a float's 2^53: exact only as an int
        assert float(total) != total
