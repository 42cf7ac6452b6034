import torch

from sepclr.engine.training import batches, mix_in_background


def test_batches_cover_rows_once_and_drop_the_incomplete_one():
    gen = torch.Generator().manual_seed(0)
    parts = batches(10, 4, gen)
    assert [len(p) for p in parts] == [4, 4]
    assert len(set(torch.cat(parts).tolist())) == 8
    assert [len(p) for p in batches(3, 4, gen)] == [3]


def test_mix_in_background_is_a_convex_mix_with_background_rows():
    torch.manual_seed(0)
    x = torch.cat([torch.ones(50, 3), torch.zeros(50, 3)])
    is_target = torch.arange(100) >= 50
    mixed = mix_in_background(x, is_target, 0.4)
    torch.testing.assert_close(mixed[:50], x[:50])  # background mixed with background
    assert mixed[50:].min() >= 0.0 and mixed[50:].max() <= 0.4
    assert mixed[50:].std() > 0.05  # per-row weights
    torch.testing.assert_close(mix_in_background(x, is_target, 0.0), x)
    torch.testing.assert_close(mix_in_background(x[50:], is_target[50:], 0.4), x[50:])
