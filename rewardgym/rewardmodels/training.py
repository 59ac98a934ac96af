"""Fitting a reward model to labeled pairs with the Bradley-Terry loss, and scoring it.

:func:`fit` trains a :class:`~rewardgym.rewardmodels.RewardModel` or
:class:`~rewardgym.rewardmodels.RewardEnsemble` offline on labeled
:class:`~rewardgym.rewardmodels.PreferencePairs` with the Bradley-Terry loss
(:func:`bradley_terry_loss`); :func:`pair_accuracy` scores it on held-out pairs against the gold
preference. :func:`train_reward_model` does all of it for an env id (collect, label, fit, score)
and fills the model card.

Example:
    >>> from rewardgym.rewardmodels import RewardModel, SyntheticLabeler, collect_pairs
    >>> labeler = SyntheticLabeler(temperature=1.0, seed=0)
    >>> train = collect_pairs("rewardgym/CartPole-v0", 100, labeler, segment_length=25, num_envs=16, seed=0)
    >>> test = collect_pairs("rewardgym/CartPole-v0", 100, labeler, segment_length=25, num_envs=16, seed=1)
    >>> model = RewardModel(train.first.observation_space, train.first.action_space, hidden=(16,), seed=0)
    >>> _ = fit(model, train, epochs=5, lr=1e-2)
    >>> pair_accuracy(model, test) > 0.8
    True
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from rewardgym.core.validation import check_number
from rewardgym.rewardmodels.labelers import PreferencePairs, SyntheticLabeler, collect_pairs
from rewardgym.rewardmodels.model import RewardEnsemble, RewardModel, check_aggregation, check_ensemble_size
from rewardgym.rewardmodels.segments import Policy, Segments

__all__ = ["bradley_terry_loss", "fit", "pair_accuracy", "segment_returns", "train_reward_model"]

AnyRewardModel = RewardModel | RewardEnsemble
"""What training and scoring take: one reward model or an ensemble."""


def bradley_terry_loss(return_first: torch.Tensor, return_second: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """The Bradley-Terry cross-entropy: ``-[y log P + (1 - y) log(1 - P)]`` averaged over pairs,
    with ``P = sigmoid(R_first - R_second)`` the model's probability that ``first`` is preferred.

    Returns may carry leading axes (ensemble members): the mean runs over the last axis, and the
    result keeps the leading ones.

    Example:
        >>> round(float(bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.0]))), 4)
        0.6931
    """
    logits = return_first - return_second
    loss = nn.functional.binary_cross_entropy_with_logits(logits, label.expand_as(logits), reduction="none")
    return loss.mean(-1)


def _members(model: AnyRewardModel) -> list[RewardModel]:
    if isinstance(model, RewardEnsemble):
        return cast(list[RewardModel], list(model.members))
    if isinstance(model, RewardModel):
        return [model]
    raise TypeError(f"expected a RewardModel or RewardEnsemble, got {type(model).__name__}")


def _step_features(member: RewardModel, segments: Segments) -> torch.Tensor:
    """The member's features of every step of every segment, ``(N, L, ...)``."""
    n, length = segments.mask.shape
    device = member.device
    flat = [x.to(device).reshape(n * length, *x.shape[2:]) for x in (segments.obs, segments.action, segments.next_obs)]
    features = member.features(*flat)
    return features.reshape(n, length, *features.shape[1:])


def _returns(member: RewardModel, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    n, length = mask.shape
    rewards = member.score(features.reshape(n * length, *features.shape[2:])).reshape(n, length)
    return (rewards * mask).sum(1)


def segment_returns(model: AnyRewardModel, segments: Segments, *, per_member: bool = False) -> torch.Tensor:
    """The model's return of each segment (its rewards summed over the segment's real steps).

    An ensemble's rewards are aggregated per step, then summed: ``(N,)``; with ``per_member``,
    each member's returns ``(k, N)``.
    """
    with torch.no_grad():
        members = _members(model)
        mask = segments.mask.to(members[0].device).float()
        n, length = mask.shape
        flat = [
            x.to(members[0].device).reshape(n * length, *x.shape[2:])
            for x in (segments.obs, segments.action, segments.next_obs)
        ]
        rewards = model.member_rewards(*flat).reshape(len(members), n, length)
        if per_member:
            return (rewards * mask).sum(-1)
        aggregated = model.aggregate(rewards) if isinstance(model, RewardEnsemble) else rewards[0]
        return (aggregated * mask).sum(-1)


def fit(
    model: AnyRewardModel,
    pairs: PreferencePairs,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
) -> dict[str, float]:
    """Train ``model`` on labeled pairs with the Bradley-Terry loss (Adam, shuffled minibatches).

    Every member of an ensemble sees the same minibatches and minimizes its own loss, so members
    differ by their seeded initial weights (as in Coste et al.). Features are computed once, so a
    feature extractor must be a fixed transform: put learnable parts in the network.
    The training settings are written to ``model.card["training"]``.

    Returns:
        ``{"loss": ..., "train_accuracy": ...}`` of the last epoch (accuracy against the labels).
    """
    members = _members(model)
    if len(pairs) < 1:
        raise ValueError("fit needs at least one labeled pair")
    epochs = int(check_number(epochs, "fit: epochs", low=1))
    batch_size = int(check_number(batch_size, "fit: batch_size", low=1))
    device = members[0].device
    mask_first = pairs.first.mask.to(device).float()
    mask_second = pairs.second.mask.to(device).float()
    label = pairs.label.to(device).float()
    with torch.no_grad():
        features = [(_step_features(m, pairs.first), _step_features(m, pairs.second)) for m in members]
    model.train().requires_grad_(True)  # a loaded or online model is frozen between fits
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(int(seed))
    total = len(pairs)
    # An online refit runs inside the agent's rollout, which is often under torch.no_grad().
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(total, generator=generator).to(device)
            # Running sums stay on the device: no host sync per minibatch.
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device)
            for start in range(0, total, batch_size):
                idx = order[start : start + batch_size]
                y = label[idx]
                loss = torch.zeros((), device=device)
                for member, (f1, f2) in zip(members, features, strict=True):
                    r1 = _returns(member, f1[idx], mask_first[idx])
                    r2 = _returns(member, f2[idx], mask_second[idx])
                    loss = loss + bradley_terry_loss(r1, r2, y)
                    correct = correct + ((r1 > r2).float() == y).float().sum().detach() / len(members)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum = loss_sum + loss.detach() * idx.shape[0] / len(members)
    model.eval()
    model.card["training"] = {
        "pairs": total,
        "segment_length": pairs.first.length,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "seed": int(seed),
        "loss": "bradley_terry",
        "optimizer": "adam",
    }
    return {"loss": float(loss_sum) / total, "train_accuracy": float(correct) / total}


def pair_accuracy(model: AnyRewardModel, pairs: PreferencePairs, *, target: str = "gold") -> float:
    """How often the model ranks a pair's segments as the target does.

    ``target="gold"`` (the default) compares with the gold preference: the segment with the larger
    gold sum, over the pairs whose gold sums differ (ties carry no preference and are left out).
    ``target="labels"`` compares with the pairs' labels, noise and bias included. A model that
    ranks a pair as a tie gets half a point.

    Raises:
        ValueError: no pair has differing gold sums, or ``target`` is unknown.
    """
    returns_first = segment_returns(model, pairs.first)
    returns_second = segment_returns(model, pairs.second)
    model_sign = torch.sign(returns_first - returns_second).cpu()
    if target == "gold":
        difference = (pairs.first.gold_return - pairs.second.gold_return).cpu()
        decided = difference.abs() > 1e-6
        if not bool(decided.any()):
            raise ValueError(
                f"none of the {len(pairs)} pairs has differing gold sums, so the gold preference is "
                "undefined; collect segments that can differ (longer ones, or another policy)"
            )
        truth = torch.sign(difference[decided])
        agree = (model_sign[decided] == truth).float() + 0.5 * (model_sign[decided] == 0).float()
        return float(agree.mean())
    if target == "labels":
        truth = pairs.label.cpu() * 2.0 - 1.0
        agree = (model_sign == truth).float() + 0.5 * (model_sign == 0).float()
        return float(agree.mean())
    raise ValueError(f"unknown pair_accuracy target {target!r}; valid targets: gold, labels")


def train_reward_model(
    env: str,
    *,
    num_pairs: int = 2000,
    heldout_pairs: int = 500,
    segment_length: int = 50,
    labeler: SyntheticLabeler | None = None,
    ensemble: int = 1,
    aggregation: str = "mean",
    uwo_lambda: float = 1.0,
    hidden: tuple[int, ...] = (64, 64),
    policy: Policy | None = None,
    num_envs: int = 64,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
) -> AnyRewardModel:
    """Collect, label and fit: a reward model for ``env`` from ``num_pairs`` synthetic preferences.

    Training and held-out pairs come from different env seeds (``seed`` and ``seed + 1``), so
    they share no episode. The model card records the env id and spaces, the labeler, the
    training settings and ``heldout_pair_accuracy`` (against gold, see :func:`pair_accuracy`).
    ``ensemble > 1`` trains a :class:`RewardEnsemble` with that many members.

    Example:
        >>> from rewardgym.rewardmodels import train_reward_model
        >>> model = train_reward_model("rewardgym/CartPole-v0", num_pairs=100, heldout_pairs=100,
        ...                            segment_length=25, num_envs=16, hidden=(16,), epochs=5, lr=1e-2)
        >>> model.card["heldout_pair_accuracy"] > 0.8, model.card["env_id"]
        (True, 'rewardgym/CartPole-v0')
    """
    ensemble = check_ensemble_size(ensemble, "train_reward_model")
    check_aggregation(aggregation, uwo_lambda, "train_reward_model")
    labeler = labeler if labeler is not None else SyntheticLabeler(seed=seed)
    collect = {"segment_length": segment_length, "policy": policy, "num_envs": num_envs}
    train = collect_pairs(env, num_pairs, labeler, seed=seed, **collect)
    test = collect_pairs(env, heldout_pairs, labeler, seed=seed + 1, **collect)
    obs_space, act_space = train.first.observation_space, train.first.action_space
    assert obs_space is not None and act_space is not None  # collect_segments records the env's spaces
    model: AnyRewardModel
    if ensemble == 1:
        model = RewardModel(obs_space, act_space, hidden=hidden, seed=seed)
    else:
        model = RewardEnsemble(
            obs_space,
            act_space,
            size=ensemble,
            aggregation=aggregation,
            uwo_lambda=uwo_lambda,
            hidden=hidden,
            seed=seed,
        )
    fit(model, train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    model.card.update(
        env_id=env,
        labeler=labeler.settings(),
        heldout_pair_accuracy=pair_accuracy(model, test),
        heldout_pairs=len(test),
        collection={
            "policy": "random" if policy is None else getattr(policy, "__name__", "custom"),
            "num_envs": num_envs,
            "segment_length": segment_length,
            "seed": seed,
        },
    )
    return model
