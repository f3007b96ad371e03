"""Combining diverse feature priors (Jain et al.): shape- and texture-biased models, ensembles, self-training and
co-training on unlabeled data, under a spurious correlation in the labeled set.

- `priors`: the priors (edges, Sobel, blur; BagNet, patch shuffle; standard) as models on `tony.vision.models`;
- `settings`: labeled / unlabeled / test sets with a spurious cue tied to the class in the labeled set only;
- `cue_conflict`: the shape of one class on the texture of another, and the shape-bias measure;
- `selection`: class-balanced confident pseudo-labels; `methods`: single, ensemble, self_train, co_train,
  co_train_combined; `training`: a prior's model in the resumable training loop;
- `study`: the spec and the runner's task (`tony priors run`), `report`: the site page.
"""
