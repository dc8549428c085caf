# A PyTorch tutorial-style script: a GRU predicts the next value of noisy sine waves.
import torch

torch.manual_seed(0)
t = torch.linspace(0, 12.0, 41)
phase = torch.rand(64, 1) * 6.0
seq = torch.sin(t.unsqueeze(0) + phase).unsqueeze(-1)  # (64, 41, 1)
x, target = seq[:, :-1], seq[:, 1:]


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(1, 16, batch_first=True)
        self.head = torch.nn.Linear(16, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)


net = Net()
opt = torch.optim.RMSprop(net.parameters(), lr=0.01)
for step in range(60):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(net(x), target)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
print("final mse {:.4f}".format(loss))
assert loss.item() < 0.05, loss.item()
