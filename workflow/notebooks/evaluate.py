# %% [markdown]
# # Evaluate
#
# Scores the held-out flights: ranking quality (ROC AUC, average precision),
# thresholded metrics at `threshold`, and observed versus predicted delay rates by
# scheduled departure hour and by origin airport.

# %%
from flights.features import TARGET
from flights.io import read_parquet, read_pickle, write_json
from flights.model import PROBA, evaluate, rates_by, scored
from flights.plots import rates_figure, roc_figure, save_png
from flights.summary import metrics_table
from IPython.display import Image

# %% tags=["parameters"]
upstream = ["fit-model"]
product = {
    "nb": "evaluate.ipynb",
    "metrics": "evaluation/metrics.json",
    "roc": "evaluation/roc.png",
    "by_hour": "evaluation/delay_by_hour.png",
}
threshold = 0.5
report = {
    "roc": "ROC curve of the classifier on the held-out flights.",
    "by_hour": "Share of flights arriving more than 15 minutes late, observed and predicted, "
    "by scheduled departure hour.",
}

# %%
model = read_pickle(upstream["fit-model"]["model"])
scores = scored(model, read_parquet(upstream["fit-model"]["test"]))
metrics = evaluate(scores, threshold=threshold)
write_json(metrics, product["metrics"])
metrics_table(metrics)

# %% [markdown]
# ## ROC curve

# %%
roc = roc_figure(scores[TARGET].to_numpy(), scores[PROBA].to_numpy(), metrics["roc_auc"])
Image(save_png(roc, product["roc"]))

# %% [markdown]
# ## Delay rate by scheduled departure hour

# %%
by_hour = rates_by(scores, "dep_hour")
figure = rates_figure(by_hour, "dep_hour", "Delays build up during the day")
Image(save_png(figure, product["by_hour"]))

# %% [markdown]
# ## By origin airport

# %%
rates_by(scores, "origin").round(3)
