# Writes lightning_2_2_5_mlp.ckpt with PyTorch Lightning 2.2.5 (../../../../shared/python-lightning):
#   PYTHONPATH=<python-lightning>/site /usr/bin/python3 make_lightning_ckpt.py && cp final.ckpt lightning_2_2_5_mlp.ckpt
import torch, lightning as L, torch.nn as nn, torch.nn.functional as F
from lightning.pytorch.callbacks import ModelCheckpoint, EarlyStopping
class M(L.LightningModule):
    def __init__(self, hidden=16, lr=0.01):
        super().__init__(); self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    def training_step(self, b, i):
        x, y = b; loss = F.mse_loss(self.net(x), y); self.log("train_loss", loss); return loss
    def validation_step(self, b, i):
        x, y = b; self.log("val_loss", F.mse_loss(self.net(x), y))
    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)]
torch.manual_seed(0)
x = torch.randn(64, 4); y = x.sum(1, keepdim=True)
dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
t = L.Trainer(max_epochs=2, default_root_dir="out", callbacks=[ModelCheckpoint(monitor="val_loss", save_last=True), EarlyStopping(monitor="val_loss")], enable_progress_bar=False)
t.fit(M(), dl, dl)
t.save_checkpoint("final.ckpt")
