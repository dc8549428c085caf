# A PyTorch tutorial-style script: a variational autoencoder on scikit-learn's 8x8 digits.
import torch
from sklearn.datasets import load_digits

F = torch.nn.functional
DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset
torch.manual_seed(0)
images = torch.tensor(load_digits().data, dtype=torch.float32) / 16.0  # (1797, 64) in [0, 1]
loader = DataLoader(TensorDataset(images), batch_size=128, shuffle=True)


class VAE(torch.nn.Module):
    def __init__(self, latent=8):
        super().__init__()
        self.enc = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU())
        self.mu = torch.nn.Linear(128, latent)
        self.logvar = torch.nn.Linear(128, latent)
        self.dec = torch.nn.Sequential(torch.nn.Linear(latent, 128), torch.nn.ReLU(),
                                       torch.nn.Linear(128, 64))

    def forward(self, x):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterization
        return self.dec(z), mu, logvar


def loss_fn(logits, x, mu, logvar):
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (rec + kl) / x.shape[0]


model = VAE()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
with torch.no_grad():
    logits, mu, logvar = model(images)
    start = loss_fn(logits, images, mu, logvar).item()
for epoch in range(10):
    model.train()
    for (xb,) in loader:
        logits, mu, logvar = model(xb)
        loss = loss_fn(logits, xb, mu, logvar)
        opt.zero_grad()
        loss.backward()
        opt.step()
model.eval()
with torch.no_grad():
    logits, mu, logvar = model(images)
    final = loss_fn(logits, images, mu, logvar).item()
    samples = torch.sigmoid(model.dec(torch.randn(16, 8)))
print("negative ELBO per image: {:.1f} -> {:.1f}".format(start, final))
assert samples.shape == (16, 64) and 0 <= samples.min() and samples.max() <= 1
assert final < 0.7 * start, (start, final)
