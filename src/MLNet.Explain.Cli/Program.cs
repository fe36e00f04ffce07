Console.WriteLine("mlnet-explain");
